using System.Text.Json.Serialization;
using Mama.LiteLlm;

namespace Mama.Users;

public sealed record NewUserRequest(string? UserId, string? Organization, IReadOnlyList<string>? AllowedModels, IReadOnlyList<string>? AllowedServices, string? ExtraInfo);
public sealed record CreateUsersRequest(IReadOnlyList<NewUserRequest?>? Users, bool AllowUnknownModels = false);

public sealed record SetEditRequest(string? Mode, IReadOnlyList<string>? Values);
public sealed record EditUserRequest(string? Organization, string? ExtraInfo, SetEditRequest? AllowedModels, SetEditRequest? AllowedServices, bool AllowUnknownModels = false);
public sealed record EditUsersRequest(IReadOnlyList<string>? UserIds, string? Organization, string? ExtraInfo, SetEditRequest? AllowedModels, SetEditRequest? AllowedServices, bool AllowUnknownModels = false);
public sealed record DeleteUsersRequest(IReadOnlyList<string>? UserIds);

public sealed record UserResponse(
    string UserId,
    string Organization,
    string KeyPreview,
    IReadOnlyList<string> AllowedModels,
    IReadOnlyList<string> AllowedServices,
    string ExtraInfo,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset UpdatedAt,
    string UpdatedBy,
    string SyncState,
    string? SyncError,
    DateTimeOffset? LastSyncedAt,
    // The full key only in the audited single-user read; lists carry the preview alone.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Key = null);

public sealed record UsersChangedResponse(IReadOnlyList<UserResponse> Users, IReadOnlyList<SyncOutcome> Sync);
public sealed record FieldChange(object? Before, object? After);
public sealed record UserChange(string UserId, IReadOnlyDictionary<string, FieldChange> Changes);
public sealed record EditUsersResponse(IReadOnlyList<UserResponse> Users, IReadOnlyList<UserChange> Changed, IReadOnlyList<string> Unchanged, IReadOnlyList<SyncOutcome> Sync);
public sealed record DeleteUsersResponse(IReadOnlyList<string> Deleted, IReadOnlyList<SyncOutcome> Sync);
public sealed record UserPage(IReadOnlyList<UserResponse> Items, int Total, int Page, int PageSize);

public sealed record UserQuery(string? Search, string? Organization, string? Model, string? Service, string? Sync, string? Sort, string? Order, int? Page, int? PageSize);
