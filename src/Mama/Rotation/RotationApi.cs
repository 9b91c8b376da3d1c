using Mama.Audit;
using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.Rotation;

public static class RotationApi
{
    public static IEndpointRouteBuilder MapRotationApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/users/rotate", RotateAsync).WithTags("Users").RequireAuthorization(Policies.UsersApi)
            .WithSummary("Rotate the keys of the users named or matching a filter, with a grace window for the replaced keys; answers at once with an operation id");
        app.MapGet("/api/v1/rotations/{rotationId}", GetAsync).WithTags("Users").RequireAuthorization(Policies.UsersApi)
            .WithSummary("A rotation's progress: total, done, revoked, failed with reasons");
        return app;
    }

    private static async Task<Results<Accepted<RotateResponse>, Ok<RotateResponse>>> RotateAsync(RotateRequest request, HttpContext http, RotationService rotations, CancellationToken ct)
    {
        var started = await rotations.StartAsync(request, Actor.From(http), ct);
        return started.DryRun ? TypedResults.Ok(started) : TypedResults.Accepted(started.StatusUrl, started);
    }

    private static async Task<Ok<RotationProgress>> GetAsync(string rotationId, RotationService rotations, CancellationToken ct) =>
        TypedResults.Ok(await rotations.GetAsync(rotationId, ct));
}
