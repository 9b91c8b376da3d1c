using Mama.Tests.Infrastructure;

namespace Mama.Tests.Cli;

/// <summary>A verb run as a real process (Development) on a fixture's database and LiteLLM emulator.</summary>
public static class CliRun
{
    public static Task<(int ExitCode, string Output)> AgainstAsync(MamaApp app, params string[] args) => AgainstAsync(app, new Dictionary<string, string?>(), args);

    public static Task<(int ExitCode, string Output)> AgainstAsync(MamaApp app, IReadOnlyDictionary<string, string?> overrides, params string[] args)
    {
        var environment = new Dictionary<string, string?>
        {
            ["Database__Provider"] = app.Database.Provider,
            ["ConnectionStrings__Mama"] = app.Database.ConnectionString,
            // The fixture's key: sign-in lockouts are stored under a hash keyed by it.
            ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
            ["LiteLlm__UseEmulator"] = "false",
            ["LiteLlm__BaseUrl"] = app.Emulator.BaseUrl.ToString(),
            ["LiteLlm__MasterKey"] = MamaApp.MasterKey,
        };
        foreach (var (key, value) in overrides) environment[key] = value;
        return MamaProcess.RunVerbAsync(app.Database.Folder, environment, args, "Development");
    }
}
