namespace Mama.Users;

/// <summary>The rules for a key an admin brings along (LiteLLM's own: <c>sk-</c> and at least 16 characters). Messages never quote the key.</summary>
public static partial class UserValidation
{
    public const int MinKeyLength = 16;
    public const int MaxKeyLength = 256;

    public static FieldError? CheckKey(string? key) =>
        key is null ? new("required", "Required.")
        : !key.StartsWith("sk-", StringComparison.Ordinal) ? new("key_prefix", "A key must start with 'sk-'.")
        : key.Length < MinKeyLength ? new("key_too_short", $"A key must be at least {MinKeyLength} characters long.")
        : key.Length > MaxKeyLength ? new("key_too_long", $"A key must be at most {MaxKeyLength} characters long.")
        // Printable ASCII only: the key travels in Authorization headers.
        : key.Any(c => c <= ' ' || c > '~') ? new("key_characters", "A key must not contain spaces, control or non-ASCII characters.")
        : null;
}
