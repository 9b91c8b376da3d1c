using Mama.Audit;
using Mama.LiteLlm;
using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Mama.Users;

public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        // Admins, and API clients with scope manage (X-API-Key) for listing, reading, creating, editing and deleting.
        var api = app.MapGroup("/api/v1/users").WithTags("Users").RequireAuthorization(Policies.UsersApi);
        api.MapGet("/", ListAsync).WithSummary("Search, filter, sort and page users (keys shown as a preview only)");
        api.MapGet("/export", ExportAsync).RequireAuthorization(Policies.SuperAdmin)
            .Produces(StatusCodes.Status200OK, responseType: null, contentType: "text/csv", "application/jsonl")
            .WithSummary("Every user the list filters keep, as CSV or JSON lines, streamed; include_keys=true adds keys (audited as key disclosures)");
        api.MapGet("/{userId}", GetAsync).WithSummary("One user with the full key (audited as a key disclosure)");
        api.MapPost("/", CreateAsync).WithSummary("Create up to 1,000 users at once; all or nothing");
        api.MapPatch("/", EditManyAsync).WithSummary("Edit many users: organisation, extra info, models and services (replace/add/remove), key expiry");
        api.MapPatch("/{userId}", EditOneAsync).WithSummary("Edit one user");
        api.MapPost("/delete", DeleteManyAsync).WithSummary("Delete many users and their keys");
        api.MapDelete("/{userId}", DeleteOneAsync).WithSummary("Delete one user and its key");
        api.MapPost("/{userId}/sync", SyncAsync).RequireAuthorization(Policies.Admin).WithSummary("Retry the LiteLLM sync of one user now");
        api.MapPost("/{userId}/resolve", ResolveAsync).RequireAuthorization(Policies.Admin).WithSummary("End a conflict with the proxy: replace its key under the alias, or import that key's value");
        return api;
    }

    private static async Task<Ok<UserPage>> ListAsync(
        [FromQuery] string? search, [FromQuery] string? organization, [FromQuery] string? model, [FromQuery] string? service,
        [FromQuery] string? sync, [FromQuery] string? rotation, [FromQuery(Name = "unavailable_models")] bool? unavailableModels, [FromQuery] string? sort, [FromQuery] string? order,
        [FromQuery] int? page, [FromQuery(Name = "page_size")] int? pageSize,
        HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Ok(await users.ListAsync(new UserQuery(search, organization, model, service, sync, sort, order, page, pageSize, rotation, unavailableModels == true), Actor.From(http), ct));

    private static async Task<UserExportResult> ExportAsync(
        [FromQuery] string? search, [FromQuery] string? organization, [FromQuery] string? model, [FromQuery] string? service,
        [FromQuery] string? sync, [FromQuery] string? rotation, [FromQuery(Name = "unavailable_models")] bool? unavailableModels, [FromQuery] string? format,
        [FromQuery(Name = "include_keys")] bool? includeKeys, HttpContext http, UserService users, CancellationToken ct) =>
        new(await users.StartExportAsync(new UserExportQuery(search, organization, model, service, sync, format, includeKeys == true, rotation, unavailableModels == true), Actor.From(http), ct));

    private static async Task<Ok<UserResponse>> GetAsync(string userId, HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Ok(await users.GetWithKeyAsync(userId, Actor.From(http), ct));

    private static async Task<Created<UsersChangedResponse>> CreateAsync(CreateUsersRequest request, HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Created("/api/v1/users", await users.CreateAsync(request, Actor.From(http), ct));

    private static async Task<Ok<EditUsersResponse>> EditManyAsync(EditUsersRequest request, HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Ok(await users.EditAsync(request, Actor.From(http), ct));

    private static async Task<Ok<EditUsersResponse>> EditOneAsync(string userId, EditUserRequest request, HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Ok(await users.EditAsync(new EditUsersRequest([userId], request.Organization, request.ExtraInfo, request.AllowedModels, request.AllowedServices, request.AllowUnknownModels,
            request.ExpectedOrganization, request.ExpectedExtraInfo, request.ExpiresAt, request.ClearExpiresAt), Actor.From(http), ct));

    private static async Task<Ok<DeleteUsersResponse>> DeleteManyAsync(DeleteUsersRequest request, HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Ok(await users.DeleteAsync(request.UserIds, Actor.From(http), ct));

    private static async Task<NoContent> DeleteOneAsync(string userId, HttpContext http, UserService users, CancellationToken ct)
    {
        await users.DeleteAsync([userId], Actor.From(http), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<SyncOutcome>> SyncAsync(string userId, HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Ok(await users.RetrySyncAsync(userId, Actor.From(http), ct));

    private static async Task<Ok<ResolveConflictResponse>> ResolveAsync(string userId, ResolveConflictRequest request, HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Ok(await users.ResolveAsync(userId, request, Actor.From(http), ct));
}
