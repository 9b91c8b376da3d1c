namespace Mama.Admins;

public sealed record TokenRequest(string? Username, string? Password);
public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, bool MustChangePassword);
public sealed record MeResponse(string Username, string Role, bool MustChangePassword);
public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);
public sealed record CreateAdminRequest(string? Username, string? Password, string? Role);
public sealed record ResetPasswordRequest(string? NewPassword);
public sealed record AdminResponse(string Username, string Role, bool MustChangePassword, DateTimeOffset CreatedAt, string CreatedBy, bool LockedOut);
public sealed record AdminListResponse(IReadOnlyList<AdminResponse> Items);

/// <summary>A successful sign-in: the account and its one role.</summary>
public sealed record SignedInAdmin(AdminAccount Account, string Role);
