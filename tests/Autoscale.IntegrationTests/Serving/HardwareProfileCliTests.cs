using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Tests.Hostile.Fuzz;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// Profiles from the hardware through the built command: <c>serving profile</c>, a config naming the model and the GPU,
/// explicit fields over derived ones, and one clear line for each bad model, GPU or shape.
/// </summary>
[Trait("Category", "Slow")]
public sealed class HardwareProfileCliTests
{
    private static string Conversation => Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet");

    private static string Config(string serving, string replica = "") => $$"""
        { "slo": { "maxTtftSeconds": 2, "maxTpotSeconds": 0.1, "targetPercent": 99 },
          "replica": { {{replica}} "dollarsPerGpuHour": 3.0, "serving": { {{serving}} } },
          "candidates": [ { "name": "two", "policy": "fixed", "options": { "replicas": 2 }, "loadTime": { "fixedSeconds": 0 } } ] }
        """;

    [Fact]
    public async Task Serving_profile_prints_every_derived_field_and_how_it_was_derived()
    {
        var run = await FuzzCli.RunAsync("serving", "profile", "--model", "meta-llama/Llama-2-70b-hf", "--gpu", "H100-SXM", "--tp", "4");

        Assert.True(run.Exit == 0, run.Err);
        var serving = JsonNode.Parse(run.Out)!["serving"]!;
        Assert.Equal(4, serving["hardware"]!["tensorParallel"]!.GetValue<int>());
        var step = serving["stepSeconds"]!;

        // Pinned: BLIS's trained-physics factors on Llama-2-70B over four H100s (docs/serving.md derives them).
        Assert.Equal(0.016614, step["base"]!.GetValue<double>(), 6);
        Assert.Equal(6.14464e-6, step["perPrefillToken"]!.GetValue<double>(), 11);
        Assert.Equal(1.51135e-10, step["perPrefillAttentionToken"]!.GetValue<double>(), 15);
        Assert.Equal(5.34718e-6, step["perDecodeToken"]!.GetValue<double>(), 11);
        Assert.Equal(4.7614e-8, step["perDecodeContextToken"]!.GetValue<double>(), 13);
        Assert.Equal(492_121, serving["kvCacheTokens"]!.GetValue<long>());
        Assert.Equal(4096, serving["maxModelLen"]!.GetValue<int>());
        Assert.Equal(0.0155632, serving["requestOverheadSeconds"]!.GetValue<double>(), 7);
        Assert.Contains("kvCacheTokens = (79.6 GiB x 0.9 x 4 - weights 128.48 GiB", run.Err, StringComparison.Ordinal);
        Assert.Contains("calibration blis-trained-physics", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_naming_hardware_replays_as_the_printed_profile_and_explicit_fields_win()
    {
        using var dir = new TempFolder();
        var printed = await FuzzCli.RunAsync("serving", "profile", "--model", "llama-3.1-8b", "--gpu", "h100-sxm");
        Assert.True(printed.Exit == 0, printed.Err);
        var pasted = JsonNode.Parse(printed.Out)!["serving"]!.AsObject();
        pasted.Remove("hardware");
        pasted["maxSequences"] = 64;
        var explicitProfile = pasted.ToJsonString()[1..^1];

        const string hardware = "\"hardware\": { \"model\": \"llama-3.1-8b\", \"gpu\": \"H100-SXM\" }, \"maxSequences\": 64";
        var fromHardware = await FuzzCli.RunAsync("backtest", "--trace", Conversation, "--config", dir.Write("h.json", Config(hardware)), "--format", "json");
        var fromPaste = await FuzzCli.RunAsync("backtest", "--trace", Conversation, "--config", dir.Write("p.json", Config(explicitProfile, "\"gpus\": 1,")), "--format", "json");
        var overridden = await FuzzCli.RunAsync("backtest", "--trace", Conversation, "--config", dir.Write("o.json", Config(hardware + ", \"stepSeconds\": { \"perDecodeToken\": 0.002 }")), "--format", "json");

        Assert.True(fromHardware.Exit == 0, fromHardware.Err);
        Assert.True(fromPaste.Exit == 0, fromPaste.Err);
        Assert.True(overridden.Exit == 0, overridden.Err);
        var (h, p, o) = (Candidate(fromHardware.Out), Candidate(fromPaste.Out), Candidate(overridden.Out));
        Assert.Equal(p.GetProperty("e2eMeanSeconds").GetDouble(), h.GetProperty("e2eMeanSeconds").GetDouble(), 5);
        Assert.Equal(p.GetProperty("dollars").GetDouble(), h.GetProperty("dollars").GetDouble(), 6);
        Assert.True(h.GetProperty("ttftMeanSeconds").GetDouble() > 0.0155, "TTFT includes the 15.6 ms before the queue");

        // A slower decode given explicitly: the other coefficients stay derived, end-to-end latency grows.
        Assert.True(o.GetProperty("e2eMeanSeconds").GetDouble() > 2 * h.GetProperty("e2eMeanSeconds").GetDouble(), $"{o.GetProperty("e2eMeanSeconds")} vs {h.GetProperty("e2eMeanSeconds")}");
    }

    private static JsonElement Candidate(string json) => JsonDocument.Parse(json).RootElement.GetProperty("candidates")[0].Clone();

    [Fact]
    public async Task A_model_is_also_read_from_its_config_json()
    {
        using var dir = new TempFolder();
        var configJson = dir.Write("config.json", """
            { "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
              "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "bfloat16" }
            """);
        var fromFile = await FuzzCli.RunAsync("serving", "profile", "--model", configJson, "--gpu", "A100-80GB", "--tp", "2");
        var fromCatalogue = await FuzzCli.RunAsync("serving", "profile", "--model", "Llama-3.1-8B-Instruct", "--gpu", "A100-80GB", "--tp", "2");

        Assert.True(fromFile.Exit == 0, fromFile.Err);
        Assert.Equal(JsonNode.Parse(fromCatalogue.Out)!["serving"]!["stepSeconds"]!.ToJsonString(), JsonNode.Parse(fromFile.Out)!["serving"]!["stepSeconds"]!.ToJsonString());
    }

    [Theory]
    [InlineData(new[] { "--model", "lama-3.1-8b", "--gpu", "H100-SXM" }, "error: --model: unknown model \"lama-3.1-8b\" (known, closest first: Llama-3.1-8B-Instruct,")]
    [InlineData(new[] { "--model", "llama-3.1-8b", "--gpu", "H100X" }, "error: --gpu: unknown GPU \"H100X\" (known, closest first: H100-PCIe, H100-SXM,")]
    [InlineData(new[] { "--model", "llama-2-70b", "--gpu", "L4" }, "error: --tp: the weights (128.5 GiB in bf16) and the activation reserve (5.7 GiB) do not fit in 1 x L4 at gpuMemoryUtilization 0.9 (20.3 GiB)")]
    [InlineData(new[] { "--model", "llama-2-70b", "--gpu", "H100-SXM", "--tp", "3" }, "the model's 64 attention heads do not divide among 3 GPUs")]
    [InlineData(new[] { "--model", "llama-2-70b", "--gpu", "H100-SXM", "--dtype", "int4" }, "error: --dtype: dtype (\"int4\") must be bf16, fp16 or fp8")]
    [InlineData(new[] { "--model", "llama-2-70b", "--gpu", "H100-SXM", "--tp", "0" }, "error: --tp: must be in [1, 64] (was 0)")]
    public async Task A_bad_profile_request_is_one_error_line(string[] args, string expected)
    {
        var run = await FuzzCli.RunAsync(["serving", "profile", .. args]);

        Assert.Equal(2, run.Exit);
        Assert.Equal("", run.Out);
        Assert.Single(run.Err.TrimEnd().Split('\n'));
        Assert.Contains(expected, run.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"hardware\": { \"model\": \"llama-3.1-8b\", \"gpu\": \"H100-SXM\", \"tensorParallel\": 2 }", "\"gpus\": 1,", "replica.gpus: (1) must equal replica.serving.hardware.tensorParallel (2)")]
    [InlineData("\"hardware\": { \"model\": \"missing/config.json\", \"gpu\": \"H100-SXM\" }", "", "replica.serving.hardware.model: \"missing/config.json\"")]
    [InlineData("\"hardware\": { \"model\": \"cfg.json\", \"gpu\": \"H100-SXM\" }", "", "replica.serving.hardware.model: \"cfg.json\" has no num_hidden_layers (the model's layer count)")]
    [InlineData("\"hardware\": { \"gpu\": \"H100-SXM\" }", "", "replica.serving.hardware.model: is required")]
    [InlineData("\"hardware\": { \"model\": \"qwen2.5-72b\", \"gpu\": \"A100-40GB\", \"tensorParallel\": 2 }", "", "replica.serving.hardware: the weights (135.4 GiB in bf16) and the activation reserve (6.7 GiB) do not fit in 2 x A100-40GB")]
    public async Task A_bad_hardware_section_is_one_error_line_naming_the_field(string serving, string replica, string expected)
    {
        using var dir = new TempFolder();
        dir.Write("cfg.json", """{ "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32, "vocab_size": 32000 }""");
        var config = dir.Write("c.json", Config(serving, replica));
        var report = Path.Combine(dir.Path, "report");

        var run = await FuzzCli.RunAsync("backtest", "--trace", Conversation, "--config", config, "--out", report);

        Assert.Equal(2, run.Exit);
        Assert.Single(run.Err.TrimEnd().Split('\n'));
        Assert.Contains(expected, run.Err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(report), "nothing is written");
    }

    [Fact]
    public async Task The_shipped_hardware_profiles_are_what_serving_profile_prints_today()
    {
        var files = Directory.GetFiles(Path.Combine(TestPaths.Examples, "profiles"), "hw-*.json");
        Assert.True(files.Length >= 6, $"{files.Length} hardware profiles");
        foreach (var file in files)
        {
            var shipped = JsonNode.Parse(await File.ReadAllTextAsync(file))!["serving"]!;
            var hardware = shipped["hardware"]!;
            var run = await FuzzCli.RunAsync("serving", "profile", "--model", hardware["model"]!.ToString(), "--gpu", hardware["gpu"]!.ToString(), "--tp", hardware["tensorParallel"]!.ToString());
            Assert.True(run.Exit == 0, run.Err);
            Assert.True(JsonNode.DeepEquals(shipped, JsonNode.Parse(run.Out)!["serving"]), $"{Path.GetFileName(file)} is out of date:\n{run.Out}");
        }
    }
}
