using Mama.Admins;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Cli;
using Mama.Components;
using Mama.Data;
using Mama.Http;
using Mama.LiteLlm;
using Mama.Observability;
using Mama.Rotation;
using Mama.Security;
using Mama.Users;
using Mama.Webhooks;
using Microsoft.AspNetCore.Authorization;

var cli = MamaCli.From(args);
var builder = WebApplication.CreateBuilder(cli.HostOptions());
cli.Configure(builder);
var dataPath = Path.GetFullPath(builder.Configuration["Mama:DataPath"] ?? "data");

builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = RequestLimits.MaxBodyBytes);
builder.Services.AddSingleton(TimeProvider.System);
builder.AddMamaTelemetry();
builder.Services.AddMamaDatabase(builder.Configuration, dataPath);
builder.Services.AddMamaDataProtection(builder.Environment, dataPath);
builder.Services.AddMamaAuthentication(builder.Configuration, builder.Environment, dataPath);
builder.Services.AddSingleton<UnauthenticatedAudit>();
builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuditedAuthorizationResultHandler>();
builder.Services.AddAntiforgery();
builder.Services.AddMamaForwardedHeaders(builder.Configuration);

builder.Services.AddLiteLlm(builder.Configuration);
builder.Services.AddMamaAudit();
builder.Services.AddMamaAdmins();
builder.Services.AddSingleton<UserService>();
builder.Services.AddSingleton<KeyAdoption>();
builder.Services.AddOptions<RotationOptions>().BindConfiguration("Mama:Rotation").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<RotationService>();
builder.Services.AddHostedService<KeyExpiry>();
builder.Services.AddSingleton<ApiClientService>();
builder.Services.AddOptions<LookupOptions>().BindConfiguration("Mama:Lookup");
builder.Services.AddSingleton<KeyLookup>();
builder.Services.AddMamaWebhooks();
builder.Services.AddMamaUi();

builder.Services.ConfigureHttpJsonOptions(o => MamaJson.Configure(o.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
// Before AddProblemDetails: writers are tried in order, and the legacy /key endpoints answer as FastAPI did.
builder.Services.AddSingleton<Microsoft.AspNetCore.Http.IProblemDetailsWriter, LegacyErrorWriter>();
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemExceptionHandler.DescribeStatus);
builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
builder.Services.AddMamaApiDocs();
builder.Services.AddMamaHealthChecks();

var app = builder.Build();

try
{
    app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
}
catch (Exception e) when (StartupErrors.AreSettings(e))
{
    // A missing setting is an operator's mistake, not a crash: one line that names it.
    Console.Error.WriteLine("mama cannot start: " + StartupErrors.Describe(e));
    return 1;
}

// A verb (migrate, import, admin, status …) runs and exits, on the migrated database unless it is status or --help; the web server never starts.
if (cli.IsVerb) return await cli.RunAsync(app.Services);
await DatabaseSetup.MigrateAsync(app.Services);

app.UseMamaForwardedHeaders();
app.UseMamaSecurityHeaders();
app.UseMamaMetrics();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestBodyLimit();
app.UseInputGuard();
app.UseMamaLocalization();
app.UseRateLimiter();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

app.MapMamaApiDocs();
app.MapMamaHealthChecks();
app.MapAuthApi();
app.MapAdminsApi();
app.MapAuditApi();
app.MapModelsApi();
app.MapAdoptApi();
app.MapLiteLlmStatusApi();
app.MapUsersApi();
app.MapRotationApi();
app.MapApiClientsApi();
app.MapKeysApi();
app.MapWebhooksApi();
app.MapMamaUi();

await app.RunAsync();
return 0;

/// <summary>Visible to the test host.</summary>
public partial class Program;
