using System.Net;
using System.Text.Json;

namespace Mama.Tests.Infrastructure;

public static class LegacyAssertions
{
    /// <summary>Asserts FastAPI's error shape, <c>{"detail": …}</c> as <c>application/json</c>, and returns the detail.</summary>
    public static async Task<JsonElement> AssertLegacyErrorAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal(["detail"], root.EnumerateObject().Select(p => p.Name));
        return root.GetProperty("detail").Clone();
    }
}
