using System.CommandLine;

namespace Mama.Cli;

/// <summary>
/// Where an export verb writes: standard output, or a file that appears whole or not at all (written to a temporary
/// file next to it, moved into place at the end, removed on failure). A file holding keys is readable by its owner only.
/// </summary>
public static class OutputFile
{
    public static Option<string?> Option() =>
        new("--output") { Description = "Write to this file (it appears whole, or not at all) instead of standard output." };

    /// <summary>The data owns standard output: the summary goes to standard error, unless the data went to a file.</summary>
    public static async Task ReportAsync(string? path, string summary)
    {
        if (string.IsNullOrEmpty(path)) await Console.Error.WriteLineAsync(summary);
        else await Console.Out.WriteLineAsync($"{summary} Written to {Path.GetFullPath(path)}.");
    }

    public static async Task<T> WriteAsync<T>(string? path, bool secret, Func<Stream, Func<Task>, Task<T>> write)
    {
        if (string.IsNullOrEmpty(path))
        {
            await using var stdout = Console.OpenStandardOutput();
            return await write(stdout, () => Task.CompletedTask);
        }

        var target = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var moved = false;
        try
        {
            await using var file = new FileStream(temp, options);
            // Moved in before the caller's success is recorded, so an audited export is an export that exists.
            return await write(file, async () =>
            {
                await file.FlushAsync();
                file.Flush(flushToDisk: true);
                await file.DisposeAsync();
                File.Move(temp, target, overwrite: true);
                moved = true;
            });
        }
        finally
        {
            if (!moved) File.Delete(temp);
        }
    }
}
