using System.Text.Json;

namespace Autoscale.Config.Hardware;

/// <summary>
/// A transformer's shape, as its Hugging Face <c>config.json</c> gives it: what the hardware model needs to count a
/// step's FLOPs and bytes.
/// </summary>
/// <param name="Id">The Hugging Face id (or the config file's path).</param>
/// <param name="Layers"><c>num_hidden_layers</c>.</param>
/// <param name="Hidden"><c>hidden_size</c>.</param>
/// <param name="Intermediate"><c>intermediate_size</c> (per expert for a mixture of experts).</param>
/// <param name="Heads"><c>num_attention_heads</c>.</param>
/// <param name="KvHeads"><c>num_key_value_heads</c> (grouped-query attention; the heads when absent).</param>
/// <param name="HeadDim"><c>head_dim</c>, or hidden / heads.</param>
/// <param name="Vocab"><c>vocab_size</c>.</param>
/// <param name="MaxPositions"><c>max_position_embeddings</c>: the longest sequence, vLLM's default <c>max_model_len</c>.</param>
/// <param name="Experts"><c>num_local_experts</c>; 0 for a dense model.</param>
/// <param name="ExpertsPerToken"><c>num_experts_per_tok</c>.</param>
/// <param name="GatedMlp">A gated MLP (SwiGLU: gate, up and down matrices) rather than two matrices (GELU, as BLOOM).</param>
/// <param name="TiedEmbeddings"><c>tie_word_embeddings</c>.</param>
internal sealed record ModelSpec(string Id, int Layers, int Hidden, int Intermediate, int Heads, int KvHeads, int HeadDim, int Vocab, int MaxPositions,
    int Experts = 0, int ExpertsPerToken = 0, bool GatedMlp = true, bool TiedEmbeddings = false)
{
    /// <summary>Whether only some experts run for a token.</summary>
    public bool IsMoE => Experts > 1;

    /// <summary>Matrices in a layer's MLP.</summary>
    public int MlpMatrices => GatedMlp ? 3 : 2;

    /// <summary>The width of the query and output projections: heads x head dimension.</summary>
    public long QueryWidth => (long)Heads * HeadDim;

    /// <summary>The width of the key and value projections: KV heads x head dimension.</summary>
    public long KvWidth => (long)KvHeads * HeadDim;

    /// <summary>Parameters of one layer's attention (query, key, value and output projections).</summary>
    public double AttentionParameters => (double)Hidden * ((2 * QueryWidth) + (2 * KvWidth));

    /// <summary>Parameters of one layer's MLP, every expert of a mixture of experts counted.</summary>
    public double MlpParameters => (double)MlpMatrices * Hidden * Intermediate * Math.Max(1, Experts);

    /// <summary>Every parameter: the layers, the embeddings and (untied) the output head.</summary>
    public double Parameters => (Layers * (AttentionParameters + MlpParameters)) + ((TiedEmbeddings ? 1.0 : 2.0) * Vocab * Hidden);

    /// <summary>KV cache bytes per token over the whole model (keys and values of every layer, 16-bit).</summary>
    public double KvBytesPerToken => Layers * 2.0 * KvWidth * 2;
}

/// <summary>
/// The models a profile can name: the fields of each one's published <c>config.json</c> (Hugging Face model cards; the
/// seven BLIS ships in its model_configs/ folder were checked against those files).
/// </summary>
internal static class ModelCatalog
{
    public static IReadOnlyList<ModelSpec> All { get; } =
    [
        new("meta-llama/Llama-2-7b-hf", 32, 4096, 11008, 32, 32, 128, 32000, 4096),
        new("meta-llama/Llama-2-13b-hf", 40, 5120, 13824, 40, 40, 128, 32000, 4096),
        new("meta-llama/Llama-2-70b-hf", 80, 8192, 28672, 64, 8, 128, 32000, 4096),
        new("meta-llama/Llama-3.1-8B-Instruct", 32, 4096, 14336, 32, 8, 128, 128256, 131072),
        new("meta-llama/Llama-3.1-70B-Instruct", 80, 8192, 28672, 64, 8, 128, 128256, 131072),
        new("meta-llama/Llama-3.3-70B-Instruct", 80, 8192, 28672, 64, 8, 128, 128256, 131072),
        new("mistralai/Mistral-7B-Instruct-v0.3", 32, 4096, 14336, 32, 8, 128, 32768, 32768),
        new("mistralai/Mixtral-8x7B-v0.1", 32, 4096, 14336, 32, 8, 128, 32000, 32768, Experts: 8, ExpertsPerToken: 2),
        new("Qwen/Qwen2.5-7B-Instruct", 28, 3584, 18944, 28, 4, 128, 152064, 32768),
        new("Qwen/Qwen2.5-32B-Instruct", 64, 5120, 27648, 40, 8, 128, 152064, 32768),
        new("Qwen/Qwen2.5-72B-Instruct", 80, 8192, 29568, 64, 8, 128, 152064, 32768),
        new("Qwen/Qwen3-14B", 40, 5120, 17408, 40, 8, 128, 151936, 40960),
        new("codellama/CodeLlama-34b-Instruct-hf", 48, 8192, 22016, 64, 8, 128, 32000, 16384),
        new("bigscience/bloom", 70, 14336, 57344, 112, 112, 128, 250880, 2048, GatedMlp: false, TiedEmbeddings: true),
    ];

    /// <summary>Other names the catalogue's models go by (the Splitwise measurements', the base and instruct variants of one shape).</summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["llama2-70b"] = "meta-llama/Llama-2-70b-hf",
        ["llama-2-70b"] = "meta-llama/Llama-2-70b-hf",
        ["llama-2-7b"] = "meta-llama/Llama-2-7b-hf",
        ["llama-2-13b"] = "meta-llama/Llama-2-13b-hf",
        ["llama-3.1-8b"] = "meta-llama/Llama-3.1-8B-Instruct",
        ["meta-llama/Llama-3.1-8B"] = "meta-llama/Llama-3.1-8B-Instruct",
        ["llama-3.1-70b"] = "meta-llama/Llama-3.1-70B-Instruct",
        ["meta-llama/Llama-3.1-70B"] = "meta-llama/Llama-3.1-70B-Instruct",
        ["llama-3.3-70b"] = "meta-llama/Llama-3.3-70B-Instruct",
        ["mistral-7b"] = "mistralai/Mistral-7B-Instruct-v0.3",
        ["mixtral-8x7b"] = "mistralai/Mixtral-8x7B-v0.1",
        ["mixtral-8x7b-instruct-v0.1"] = "mistralai/Mixtral-8x7B-v0.1",
        ["qwen2.5-7b"] = "Qwen/Qwen2.5-7B-Instruct",
        ["qwen2.5-32b"] = "Qwen/Qwen2.5-32B-Instruct",
        ["qwen2.5-72b"] = "Qwen/Qwen2.5-72B-Instruct",
        ["qwen3-14b"] = "Qwen/Qwen3-14B",
        ["codellama-34b"] = "codellama/CodeLlama-34b-Instruct-hf",
        ["bloom-176b"] = "bigscience/bloom",
    };

    /// <summary>The model <paramref name="name"/> names: a catalogue id, its last segment or an alias (case-insensitive); null when none.</summary>
    public static ModelSpec? Find(string name)
    {
        var key = name.Trim();
        if (Aliases.TryGetValue(key, out var id))
        {
            key = id;
        }

        return All.FirstOrDefault(m => string.Equals(m.Id, key, StringComparison.OrdinalIgnoreCase))
            ?? All.FirstOrDefault(m => string.Equals(m.Id[(m.Id.IndexOf('/', StringComparison.Ordinal) + 1)..], key, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Every model's short name (its id's last segment), for messages.</summary>
    public static IEnumerable<string> Names => All.Select(m => Short(m.Id));

    /// <summary>The catalogue's short names, nearest to <paramref name="name"/> first: by edit distance to a model's name or any of its aliases.</summary>
    public static IEnumerable<string> Closest(string name, Func<string, string, int> distance)
    {
        var spellings = All.SelectMany(m => new[] { (Spelling: Short(m.Id), Model: Short(m.Id)), (Spelling: m.Id, Model: Short(m.Id)) })
            .Concat(Aliases.Select(a => (Spelling: a.Key, Model: Short(a.Value))));
        return spellings.Select(p => (p.Model, Distance: distance(name.ToLowerInvariant(), p.Spelling.ToLowerInvariant())))
            .GroupBy(p => p.Model).Select(g => (Name: g.Key, Distance: g.Min(p => p.Distance)))
            .OrderBy(p => p.Distance).ThenBy(p => p.Name, StringComparer.Ordinal).Select(p => p.Name);
    }

    private static string Short(string id) => id[(id.IndexOf('/', StringComparison.Ordinal) + 1)..];

    /// <summary>
    /// The shape a Hugging Face <c>config.json</c> gives (Llama, Mistral, Mixtral, Qwen field names; BLOOM's n_embed,
    /// n_layer and n_head); throws <see cref="FormatException"/> naming a missing field.
    /// </summary>
    public static ModelSpec FromConfigJson(string path, string text)
    {
        using var document = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("is not a model's config.json (expected an object)");
        }

        int? Get(params string[] names)
        {
            foreach (var name in names)
            {
                if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n))
                {
                    return n;
                }
            }

            return null;
        }

        int Need(string what, params string[] names) =>
            Get(names) is { } n && n > 0 ? n : throw new FormatException($"has no {names[0]} (the model's {what}), which the hardware model needs");

        var hidden = Need("hidden size", "hidden_size", "n_embed", "d_model");
        var layers = Need("layer count", "num_hidden_layers", "n_layer", "num_layers");
        var heads = Need("attention heads", "num_attention_heads", "n_head");
        var isBloom = root.TryGetProperty("model_type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() is "bloom" or "gpt2" or "gpt_neox" or "falcon";
        var intermediate = Get("intermediate_size", "ffn_hidden_size", "n_inner") ?? (isBloom ? 4 * hidden : throw new FormatException("has no intermediate_size (the MLP's width), which the hardware model needs"));
        var kvHeads = Get("num_key_value_heads", "n_head_kv") ?? heads;
        var headDim = Get("head_dim") ?? (hidden % heads == 0 ? hidden / heads : throw new FormatException($"has no head_dim, and hidden_size ({hidden}) is not a multiple of num_attention_heads ({heads})"));
        var vocab = Need("vocabulary", "vocab_size");
        var maxPositions = Get("max_position_embeddings", "seq_length", "n_positions") ?? 2048;
        var experts = Get("num_local_experts", "num_experts", "n_routed_experts") ?? 0;
        var perToken = Get("num_experts_per_tok", "moe_topk") ?? (experts > 0 ? 2 : 0);
        var tied = root.TryGetProperty("tie_word_embeddings", out var tie) && tie.ValueKind == JsonValueKind.True;
        return new ModelSpec(path, layers, hidden, experts > 1 ? Get("moe_intermediate_size") ?? intermediate : intermediate, heads, kvHeads, headDim, vocab, maxPositions,
            experts, perToken, GatedMlp: !isBloom, TiedEmbeddings: tied || (isBloom && !root.TryGetProperty("tie_word_embeddings", out _)));
    }
}
