namespace Mama.Users;

/// <summary>The rules for a key an admin brings along (LiteLLM's own: <c>sk-</c> and at least 16 characters). Messages never quote the key.</summary>
public static partial class UserValidation
{
    public const int MinKeyLength = 16;
    public const int MaxKeyLength = 256;

    public static string? CheckKey(string? key) =>
        key is null ? "Required."
        : !key.StartsWith("sk-", StringComparison.Ordinal) ? "A key must start with 'sk-'."
        : key.Length < MinKeyLength ? $"A key must be at least {MinKeyLength} characters long."
        : key.Length > MaxKeyLength ? $"A key must be at most {MaxKeyLength} characters long."
        // Printable ASCII only: the key travels in Authorization headers.
        : key.Any(c => c <= ' ' || c > '~') ? "A key must not contain spaces, control or non-ASCII characters."
        : null;
}
