using Mama.Audit;
using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.Admins;

public static class AdminsApi
{
    public static RouteGroupBuilder MapAdminsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/admins").WithTags("Admins").RequireAuthorization(Policies.SuperAdmin);
        api.MapGet("/", ListAsync).WithSummary("List admin accounts");
        api.MapPost("/", CreateAsync).WithSummary("Create an admin account");
        api.MapDelete("/{username}", DeleteAsync).WithSummary("Delete an admin account; its tokens stop working");
        api.MapPut("/{username}/password", ResetPasswordAsync).WithSummary("Set another admin's password; they must change it at next sign-in");
        return api;
    }

    private static async Task<Ok<AdminListResponse>> ListAsync(AdminService admins, CancellationToken ct) =>
        TypedResults.Ok(await admins.ListAsync(ct));

    private static async Task<Created<AdminResponse>> CreateAsync(CreateAdminRequest request, HttpContext http, AdminService admins, CancellationToken ct)
    {
        var created = await admins.CreateAsync(request, Actor.From(http), ct);
        return TypedResults.Created($"/api/v1/admins/{Uri.EscapeDataString(created.Username)}", created);
    }

    private static async Task<NoContent> DeleteAsync(string username, HttpContext http, AdminService admins, CancellationToken ct)
    {
        await admins.DeleteAsync(username, Actor.From(http), ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> ResetPasswordAsync(string username, ResetPasswordRequest request, HttpContext http, AdminService admins, CancellationToken ct)
    {
        await admins.ResetPasswordAsync(username, request.NewPassword, Actor.From(http), ct);
        return TypedResults.NoContent();
    }
}
