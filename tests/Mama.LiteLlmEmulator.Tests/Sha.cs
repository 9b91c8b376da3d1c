using System.Security.Cryptography;
using System.Text;

namespace Mama.LiteLlmEmulator.Tests;

internal static class Sha
{
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
