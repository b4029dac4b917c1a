using Microsoft.Playwright;

namespace Autoscale.Tests.Reporting;

/// <summary>
/// A fact that needs Chromium (Debian's package). Without it the fact skips saying how to install it, unless
/// AUTOSCALE_REQUIRE_BROWSER=1 (as .ci/run sets after installing it), when it runs and fails.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (BrowserReportTests.Chromium is null && Environment.GetEnvironmentVariable("AUTOSCALE_REQUIRE_BROWSER") != "1")
        {
            Skip = "Chromium is not installed: apt-get install chromium (or set CHROMIUM_BIN), or run .ci/run";
        }
    }
}

/// <summary>report.html as a reader meets it: opened in a real headless browser from the report folder.</summary>
[Trait("Category", "Slow")]
public sealed class BrowserReportTests
{
    public static string? Chromium =>
        Environment.GetEnvironmentVariable("CHROMIUM_BIN") is { Length: > 0 } bin && File.Exists(bin) ? bin
        : new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    [BrowserFact]
    public async Task Every_report_loads_without_a_console_error_with_every_image_and_is_not_blank()
    {
        foreach (var (trace, config) in new[] { ("textbook-spike.parquet", "textbook-sweep.json"), ("azure-llm-code-2023.parquet", "all-policies.json") })
        {
            using var dir = new TempFolder();
            var outDir = dir.File("report");
            var (exit, _, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("backtest", "--trace", Path.Combine(TestPaths.Traces, trace),
                "--config", Path.Combine(TestPaths.Examples, config), "--out", outDir, "--format", "json");
            Assert.True(exit == 0, stderr);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium ?? throw new InvalidOperationException("AUTOSCALE_REQUIRE_BROWSER=1 but no Chromium: apt-get install chromium"),
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
            var errors = new List<string>();
            page.Console += (_, message) =>
            {
                if (message.Type is "error" or "warning")
                {
                    errors.Add($"{message.Type}: {message.Text}");
                }
            };
            page.PageError += (_, error) => errors.Add("page error: " + error);
            page.RequestFailed += (_, request) => errors.Add($"request failed: {request.Url}");

            var response = await page.GotoAsync(new Uri(Path.Combine(outDir, "report.html")).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
            Assert.NotNull(response);

            var images = await page.EvaluateAsync<int[]>("Array.from(document.images).map(i => i.complete ? i.naturalWidth : -1)");
            Assert.NotEmpty(images);
            Assert.All(images, width => Assert.True(width > 0, $"{config}: an image did not load ({string.Join(", ", images)})"));
            var expected = Directory.GetFiles(outDir, "*.png").Length;
            Assert.Equal(expected, images.Length);
            Assert.Empty(errors);

            var title = await page.TitleAsync();
            Assert.Equal("Autoscale backtest report", title);
            var text = await page.InnerTextAsync("body");
            Assert.Contains("Glossary", text, StringComparison.Ordinal);

            // The screenshot is not blank: the first screen holds text and plots, so it has many colours.
            var png = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = false });
            using var image = SkiaSharp.SKBitmap.Decode(png);
            var colours = new HashSet<uint>();
            for (var y = 0; y < image.Height; y += 7)
            {
                for (var x = 0; x < image.Width; x += 7)
                {
                    colours.Add((uint)image.GetPixel(x, y));
                }
            }

            Assert.True(colours.Count > 20, $"{config}: the screenshot has only {colours.Count} colours: a blank page?");
        }
    }
}
