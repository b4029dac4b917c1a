namespace Autoscale.Cli;

/// <summary>Bad input from the user: printed as one <c>error: ...</c> line, exit code 2.</summary>
internal sealed class UserInputException(string message) : Exception(message);
