using System.Reflection;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Xunit;

namespace Autoscale.Tests.Policies;

/// <summary>
/// A native build binds options without generating code: every option that is not a nested options object must have
/// compile-time JSON metadata, or a user's config is refused by that build alone (as routingWeights once was).
/// </summary>
public sealed class NativeBindingTests
{
    [Fact]
    public void Every_option_of_the_config_and_of_every_built_in_policy_binds_without_generating_code()
    {
        var catalog = PolicyCatalog.CreateBuiltIn();
        var roots = new[] { ConfigSchema.File, ConfigSchema.Report, ConfigSchema.Candidate, ConfigSchema.FixedSecondsLoadTime, ConfigSchema.FixedLoadTime, ConfigSchema.EmpiricalLoadTime }
            .Concat(catalog.Names.Select(n => catalog.TryGet(n, out var d) ? d.OptionsType : null).OfType<Type>());
        var seen = new HashSet<Type>();
        var missing = new List<string>();
        var values = 0;
        foreach (var root in roots)
        {
            Walk(root, root.Name);
        }

        Assert.True(values > 200, $"only {values} value options walked");
        Assert.Empty(missing);
        Assert.Contains(typeof(ServingOptions), seen);

        void Walk(Type type, string path)
        {
            if (!seen.Add(type))
            {
                return;
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
            {
                var t = property.PropertyType;
                var item = t.IsGenericType && t.GetGenericArguments() is [var only] && typeof(System.Collections.IEnumerable).IsAssignableFrom(t) ? only : null;
                if (Nested(t))
                {
                    Walk(t, $"{path}.{property.Name}");
                }
                else if (item is not null && Nested(item))
                {
                    Walk(item, $"{path}.{property.Name}[]");
                }
                else
                {
                    values++;
                    if (!OptionsBinder.HasCompileTimeMetadata(t))
                    {
                        missing.Add($"{path}.{property.Name} ({t.Name})");
                    }
                }
            }
        }

        static bool Nested(Type t) => t.IsClass && typeof(IValidatableOptions).IsAssignableFrom(t);
    }
}
