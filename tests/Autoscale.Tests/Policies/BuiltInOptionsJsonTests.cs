using System.Reflection;
using System.Text.Json;
using Autoscale.Policies.Catalog;

namespace Autoscale.Tests.Policies;

public sealed class BuiltInOptionsJsonTests
{
    /// <summary>
    /// The native build reads options only through the compile-time metadata (the core's, and the policies' that their
    /// assembly adds): a built-in options type whose member type is missing there, or an enum without a converter, would
    /// bind only under the JIT.
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
                if (CoreOptionsJson.Default.GetTypeInfo(type) is null && BuiltInOptionsJson.Default.GetTypeInfo(type) is null)
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

public sealed class NestedOptionsRootsTests
{
    /// <summary>
    /// The native build keeps a nested options class (a schedule window, a load time's cache) for reflection only
    /// when the class that holds it names it with [DynamicDependency] on its Validate: every one must.
    /// </summary>
    [Fact]
    public void Every_nested_options_class_is_kept_by_the_class_that_holds_it()
    {
        var roots = PolicyCatalog.CreateBuiltIn().Names
            .Select(n => PolicyCatalog.CreateBuiltIn().TryGet(n, out var d) ? d.OptionsType : null)
            .OfType<Type>()
            .Append(typeof(Autoscale.Config.BacktestConfig))
            .Append(typeof(Autoscale.Backtesting.LoadTime.PhasedLoadTimeOptions));
        var missing = new List<string>();
        var seen = new HashSet<Type>();
        var pending = new Queue<Type>(roots);
        while (pending.TryDequeue(out var type))
        {
            if (!seen.Add(type))
            {
                continue;
            }

            var kept = type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.Name == "Validate")
                .SelectMany(m => m.GetCustomAttributes<System.Diagnostics.CodeAnalysis.DynamicDependencyAttribute>())
                .Select(a => a.Type).ToHashSet();
            foreach (var property in OptionRules.Settable(type))
            {
                var nested = OptionRules.ItemType(property.PropertyType) ?? property.PropertyType;
                if (nested.IsClass && typeof(IValidatableOptions).IsAssignableFrom(nested))
                {
                    if (!kept.Contains(nested))
                    {
                        missing.Add($"{type.Name}.{property.Name}: {nested.Name}");
                    }

                    pending.Enqueue(nested);
                }
            }
        }

        Assert.Empty(missing);
        Assert.Contains(typeof(Autoscale.Backtesting.LoadTime.NodeCacheOptions), seen);
    }
}
