namespace Autoscale;

/// <summary>The pool a policy scales.</summary>
public enum ServingPool : byte
{
    /// <summary>The whole fleet: every replica prefills and decodes.</summary>
    Colocated,

    /// <summary>The prefill pool of a disaggregated fleet: its replicas prefill prompts and hand their KV caches on.</summary>
    Prefill,

    /// <summary>The decode pool of a disaggregated fleet: its replicas take KV caches and generate the output.</summary>
    Decode,
}
