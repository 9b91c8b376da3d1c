using Mama.Admins;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
var dataPath = Path.GetFullPath(builder.Configuration["Mama:DataPath"] ?? "data");

builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = RequestLimits.MaxBodyBytes);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddMamaDatabase(builder.Configuration, dataPath);
builder.Services.AddDataProtection().PersistKeysToDbContext<MamaDbContext>().SetApplicationName("mama");
builder.Services.AddMamaAuthentication(builder.Configuration, builder.Environment, dataPath);
builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuditedAuthorizationResultHandler>();
builder.Services.AddAntiforgery();

builder.Services.AddSingleton<AuditLog>();
builder.Services.AddSingleton<AuditQueries>();
builder.Services.AddScoped<AdminService>();
builder.Services.AddScoped<SuperAdminSeeder>();

builder.Services.ConfigureHttpJsonOptions(o => MamaJson.Configure(o.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
builder.Services.AddOpenApi();
builder.Services.AddMamaHealthChecks();

var app = builder.Build();

await DatabaseSetup.MigrateAsync(app.Services);
if (args.Contains("migrate"))
{
    Console.WriteLine("Database migrated.");
    return;
}

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestBodyLimit();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

app.MapOpenApi().AllowAnonymous();
app.MapScalarApiReference("/docs").AllowAnonymous();
app.MapMamaHealthChecks();
app.MapAuthApi();
app.MapAdminsApi();
app.MapAuditApi();
app.MapLoginPage();

app.Run();

/// <summary>Visible to the test host.</summary>
public partial class Program;
