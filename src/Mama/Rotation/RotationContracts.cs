namespace Mama.Rotation;

/// <summary>The list's filters; an empty filter is every user. <c>rotation</c>: <c>in_progress</c> as on the list.</summary>
/// <param name="UnavailableModels">Only users holding a model the proxy no longer serves, as the users list's <c>unavailable_models</c>.</param>
public sealed record RotationFilter(string? Search, string? Organization, string? Model, string? Service, string? Sync, string? Rotation = null, bool? UnavailableModels = null);

/// <param name="UserIds">The users to rotate; or give <paramref name="Filter"/> (not both).</param>
/// <param name="Grace">How long the replaced key keeps working: ISO 8601 (<c>PT24H</c>), <c>hh:mm:ss</c>, or a number with s, m, h or d; <c>0</c> revokes it at once. Default <c>Mama:Rotation:DefaultGrace</c>.</param>
/// <param name="DryRun">Only count the users it would rotate.</param>
/// <param name="ExpectedTotal">The number of users the caller confirmed (the UI's typed number): a 409 when the selection now holds another number.</param>
public sealed record RotateRequest(IReadOnlyList<string>? UserIds, RotationFilter? Filter, string? Grace, bool DryRun = false, int? ExpectedTotal = null);

/// <param name="Skipped">Users a filter matched that are not rotated, with why: <c>already_rotating</c>, <c>conflict</c>, or (automatic rotations) <c>expired</c> (at most 1,000).</param>
public sealed record RotateResponse(string? RotationId, int Total, TimeSpan Grace, bool DryRun, string? StatusUrl, IReadOnlyList<SkippedUser>? Skipped = null);

public sealed record SkippedUser(string UserId, string Reason);

public sealed record RotationFailure(string UserId, string State, string? Error);

/// <param name="Done">Users whose new key is live (and current), including those whose replaced key is already revoked.</param>
/// <param name="Failures">Users whose step failed, with the reason (at most 100); they are retried in the background.</param>
public sealed record RotationProgress(
    string RotationId, DateTimeOffset CreatedAt, string CreatedBy, string Trigger, TimeSpan Grace,
    int Total, int Pending, int Done, int Revoked, int Failed, int Skipped, IReadOnlyList<RotationFailure> Failures,
    bool Finished, DateTimeOffset? FinishedAt);
