using System.Text.Json.Serialization;
using Mama.LiteLlm;

namespace Mama.Users;

/// <param name="Key">An existing key to keep (stored encrypted, never echoed); mama makes one when absent.</param>
/// <param name="ExpiresAt">When the key ends (optional, in the future): from then on it is blocked on the proxy.</param>
public sealed record NewUserRequest(string? UserId, string? Organization, IReadOnlyList<string>? AllowedModels, IReadOnlyList<string>? AllowedServices, string? ExtraInfo,
    string? Key = null, DateTimeOffset? ExpiresAt = null);
public sealed record CreateUsersRequest(IReadOnlyList<NewUserRequest?>? Users, bool AllowUnknownModels = false);

/// <summary>Either <c>mode</c> (replace, add or remove) with <c>values</c>, or <c>add</c> and/or <c>remove</c> lists applied together.</summary>
public sealed record SetEditRequest(string? Mode, IReadOnlyList<string>? Values, IReadOnlyList<string>? Add = null, IReadOnlyList<string>? Remove = null);

/// <param name="ExpectedOrganization">When given, the edit applies only if the organisation is still this (409 otherwise).</param>
/// <param name="ExpectedExtraInfo">When given, the edit applies only if the extra info is still this (409 otherwise).</param>
/// <param name="ExpiresAt">Sets or extends when the key ends (in the future); an expired key is unblocked by it.</param>
/// <param name="ClearExpiresAt">Removes the end date (absent or null <c>expires_at</c> leaves it as it is).</param>
public sealed record EditUserRequest(string? Organization, string? ExtraInfo, SetEditRequest? AllowedModels, SetEditRequest? AllowedServices, bool AllowUnknownModels = false,
    string? ExpectedOrganization = null, string? ExpectedExtraInfo = null, DateTimeOffset? ExpiresAt = null, bool ClearExpiresAt = false);
public sealed record EditUsersRequest(IReadOnlyList<string>? UserIds, string? Organization, string? ExtraInfo, SetEditRequest? AllowedModels, SetEditRequest? AllowedServices, bool AllowUnknownModels = false,
    string? ExpectedOrganization = null, string? ExpectedExtraInfo = null, DateTimeOffset? ExpiresAt = null, bool ClearExpiresAt = false);
/// <summary><c>replace</c> (delete the proxy's key under the alias, then create mama's) or <c>import</c> with the proxy key's value in <c>key</c>.</summary>
public sealed record ResolveConflictRequest(string? Action, string? Key = null);
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
    // Key expiry: when the key ends, and whether it has (then it is blocked on the proxy).
    DateTimeOffset? ExpiresAt = null,
    bool Expired = false,
    // Rotation: the operation making a new key live, and until when the replaced key still works (the rotating badge).
    string? RotationId = null,
    DateTimeOffset? PreviousKeyExpiresAt = null,
    // The full key only in the audited single-user read; lists carry the preview alone.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Key = null);

public sealed record UsersChangedResponse(IReadOnlyList<UserResponse> Users, IReadOnlyList<SyncOutcome> Sync);
public sealed record FieldChange(object? Before, object? After);
public sealed record UserChange(string UserId, IReadOnlyDictionary<string, FieldChange> Changes);
public sealed record EditUsersResponse(IReadOnlyList<UserResponse> Users, IReadOnlyList<UserChange> Changed, IReadOnlyList<string> Unchanged, IReadOnlyList<SyncOutcome> Sync);
public sealed record DeleteUsersResponse(IReadOnlyList<string> Deleted, IReadOnlyList<SyncOutcome> Sync);
public sealed record UserPage(IReadOnlyList<UserResponse> Items, int Total, int Page, int PageSize);

/// <param name="Rotation"><c>in_progress</c>: only users whose new key is not live yet or whose replaced key still works.</param>
/// <param name="UnavailableModels">Only users holding a model the proxy no longer serves (its access groups and LiteLLM's special names count as served).</param>
public sealed record UserQuery(string? Search, string? Organization, string? Model, string? Service, string? Sync, string? Sort, string? Order, int? Page, int? PageSize,
    string? Rotation = null, bool UnavailableModels = false);
public sealed record ResolveConflictResponse(UserResponse User, SyncOutcome Sync);
