using System.Text.Json;
using System.Text.Json.Serialization;

namespace Autoscale;

/// <summary>
/// Serialization metadata, made at compile time, for the value types options of every kind use (numbers, text,
/// durations, maps of text), so <see cref="OptionsBinder"/> reads them without run-time code generation. An assembly
/// whose options use more adds its own with <see cref="OptionsBinder.AddMetadata"/>.
/// </summary>
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(int?))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(long?))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(double?))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(bool?))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(NodaTime.Duration))]
[JsonSerializable(typeof(NodaTime.Duration?))]
[JsonSerializable(typeof(Uri))]
internal sealed partial class CoreOptionsJson : JsonSerializerContext;
