using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mama.ApiClients;

/// <summary>
/// The lookup answers' JSON, generated at build time: the same JSON the API's shared options write (snake_case, the
/// default escaping), written through <see cref="Http.GeneratedJson{T}"/>.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(LookupResponse))]
[JsonSerializable(typeof(LookedUpUser))]
internal sealed partial class LookupJson : JsonSerializerContext;
