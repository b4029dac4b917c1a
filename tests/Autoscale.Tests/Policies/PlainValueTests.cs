using System.Globalization;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Policies;

/// <summary>
/// The binder reads plain values (numbers, flags, texts, durations in seconds) without the serializer; what it reads, and
/// every message for what it refuses, must be the serializer's, value for value.
/// </summary>
public sealed class PlainValueTests
{
    private static readonly JsonSerializerOptions Serializer = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
        Converters = { new DurationJsonConverter() },
    };

    private static readonly Type[] Types = [typeof(double), typeof(double?), typeof(int), typeof(int?), typeof(long), typeof(long?), typeof(Duration), typeof(Duration?), typeof(bool), typeof(bool?), typeof(string)];

    private static readonly Gen<string> Tokens = Gen.OneOf(
        Gen.Elements("0", "-0", "1", "-1", "1.0", "2.5", "1e3", "1E-3", "1e400", "-1e400", "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
            "3155760000", "3155760001", "0.000000001", "0.0000000004", "true", "false", "null", "\"\"", "\"90s\"", "\"PT15S\"", "\"text\"", "\"\\ud800\"", "[]", "{}", "[1]"),
        Gen.Choose(int.MinValue, int.MaxValue).Select(i => i.ToString(CultureInfo.InvariantCulture)),
        ArbMap.Default.GeneratorFor<NormalFloat>().Select(f => f.Get.ToString("R", CultureInfo.InvariantCulture)),
        Gen.Choose(-400, 400).Select(e => $"1.5e{e}"));

    [Property(MaxTest = 3_000)]
    public Property A_plain_value_reads_as_the_serializer_reads_it() =>
        Prop.ForAll(
            (from token in Tokens from type in Gen.Elements(Types) select (token, type)).ToArbitrary(),
            x =>
            {
                using var document = JsonDocument.Parse(x.token);
                var element = document.RootElement;
                var (bound, boundError) = Try(() => OptionsBinder.ReadValue(element, x.type, "o"));
                var (expected, expectedError) = Try(() => element.Deserialize(x.type, Serializer));
                if (expectedError is not null || (expected is null && x.type.IsValueType && Nullable.GetUnderlyingType(x.type) is null))
                {
                    // The serializer refuses it: so must the binder, with its message.
                    return (boundError is OptionsBindingException).Label($"{x.token} as {x.type}: bound {bound}, error {boundError?.GetType().Name}");
                }

                return (boundError is null && Equals(bound, expected)).Label($"{x.token} as {x.type}: bound {bound} ({boundError?.Message}), serializer {expected}");
            });

    private static (object? Value, Exception? Error) Try(Func<object?> read)
    {
        try
        {
            return (read(), null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or OptionsBindingException or FormatException or NotSupportedException)
        {
            return (null, e);
        }
    }
}
