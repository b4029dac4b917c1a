using System.Reflection;
using System.Text.Json;
using Autoscale.Policies.Catalog;

namespace Autoscale.Tests.Policies;

public sealed class BuiltInOptionsJsonTests
{
    /// <summary>
    /// The native build reads options only through the compile-time metadata: a built-in options type
    /// whose member type is missing there, or an enum without a converter, would bind only under the JIT.
    /// </summary>
    [Fact]
    public void Every_member_type_of_the_built_in_options_has_compile_time_metadata()
    {
        var catalog = PolicyCatalog.CreateBuiltIn();
        var seen = new HashSet<Type>();
        var pending = new Queue<Type>(catalog.Names.Select(n => catalog.TryGet(n, out var d) ? d.OptionsType : throw new InvalidOperationException(n)));
        var missing = new List<string>();
        while (pending.TryDequeue(out var options))
        {
            if (!seen.Add(options))
            {
                continue;
            }

            foreach (var property in options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
            {
                var type = property.PropertyType;
                if (BuiltInOptionsJson.Default.GetTypeInfo(type) is null)
                {
                    missing.Add($"{options.Name}.{property.Name}: {type}");
                }

                var inner = Nullable.GetUnderlyingType(type) ?? (type.IsGenericType ? type.GetGenericArguments()[0] : type);
                if (inner.IsEnum && !BuiltInOptionsJson.EnumConverters.Any(c => c.CanConvert(inner)))
                {
                    missing.Add($"{options.Name}.{property.Name}: no enum converter for {inner.Name}");
                }

                if (inner.IsClass && inner != typeof(string) && inner != typeof(JsonElement))
                {
                    pending.Enqueue(inner);
                }
            }
        }

        Assert.Empty(missing);
        Assert.Contains(typeof(Autoscale.Policies.ScheduledFloor.ScheduleWindow), seen);
    }
}
