using Mama.Tests.Infrastructure;

namespace Mama.Tests.Cli;

/// <summary>Help and usage errors of the verbs, run as a real process: neither needs nor touches a database.</summary>
public sealed class CommandLineUsageTests
{
    [Theory]
    [InlineData("admin reset-password --help", "Break glass")]
    [InlineData("admin list --help", "List the admin accounts")]
    [InlineData("admin --help", "reset-password")]
    [InlineData("status --help", "Exit code 0 when all is well")]
    [InlineData("migrate --help", "Apply the database migrations")]
    [InlineData("audit export --help", "--from <from>")]
    [InlineData("users export --help", "--include-keys")]
    [InlineData("users import --help", "<file>")]
    [InlineData("import users --help", "--from <from>")]
    public async Task EveryVerbExplainsItselfWithHelpAndExitsZeroWithoutOpeningTheDatabase(string args, string expected)
    {
        var (exitCode, output, databaseCreated) = await RunAsync(args);

        Assert.True(exitCode == 0, output);
        Assert.Contains("Usage:", output);
        Assert.Contains(expected, output);
        Assert.False(databaseCreated, "help created a database");
    }

    [Theory]
    [InlineData("admin reset-password", "Required argument missing")]
    [InlineData("admin", "Required command was not provided")]
    [InlineData("admin frobnicate", "frobnicate")]
    [InlineData("status --frobnicate", "--frobnicate")]
    [InlineData("audit export --from 2026-11-01 --format csv", "--to")]
    [InlineData("users export --format xml", "xml")]
    public async Task AMissingOrUnknownArgumentIsAUsageErrorWithExitCodeTwo(string args, string expected)
    {
        var (exitCode, output, _) = await RunAsync(args);

        Assert.True(exitCode == 2, output);
        Assert.Contains(expected, output);
        Assert.Contains("--help", output);
    }

    private static async Task<(int ExitCode, string Output, bool DatabaseCreated)> RunAsync(string args)
    {
        var folder = Directory.CreateTempSubdirectory("mama-cli-").FullName;
        try
        {
            var (exitCode, output) = await MamaProcess.RunVerbAsync(folder, new Dictionary<string, string?>(), args.Split(' '), "Development");
            return (exitCode, output, File.Exists(Path.Combine(folder, "mama.db")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
