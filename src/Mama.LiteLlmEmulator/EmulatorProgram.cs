using System.Globalization;

namespace Mama.LiteLlmEmulator;

/// <summary>dotnet run --project src/Mama.LiteLlmEmulator -- --port 4000 --master-key sk-emulator-master-key-change-me [--models a,b,c]</summary>
public static class EmulatorProgram
{
    private const string Usage =
        "usage: Mama.LiteLlmEmulator [--port 4000] [--master-key sk-emulator-master-key-change-me] [--models a,b,c] [--duplicate-key noop|reject] [--legacy-delete] [--missing-key-update-delay-ms N]";

    public static async Task<int> Main(string[] args)
    {
        EmulatorOptions options;
        try
        {
            options = Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
        {
            await Console.Error.WriteLineAsync(e.Message + Environment.NewLine + Usage);
            return 2;
        }

        await using var emulator = await LiteLlmEmulatorHost.StartAsync(options);
        Console.WriteLine($"LiteLLM emulator listening on {emulator.BaseUrl} with models: {string.Join(", ", emulator.Control.ModelNames)}");
        await emulator.WaitForShutdownAsync();
        return 0;
    }

    internal static EmulatorOptions Parse(string[] args)
    {
        var options = new EmulatorOptions { Port = 4000, LogToConsole = true, Standalone = true };
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--port":
                    options.Port = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--master-key":
                    options.MasterKey = args[++i];
                    break;
                case "--models":
                    options.Models = [.. args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                    break;
                case "--duplicate-key":
                    options.DuplicateKeyMode = Enum.Parse<DuplicateKeyMode>(args[++i], ignoreCase: true);
                    break;
                case "--legacy-delete":
                    options.LegacyDeleteErrors = true;
                    break;
                case "--missing-key-update-delay-ms":
                    options.MissingKeyUpdateDelay = TimeSpan.FromMilliseconds(int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        return options;
    }
}
