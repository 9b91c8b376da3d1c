using Mama.Components.Shared;
using Mama.LiteLlm;
using Mama.Users;

namespace Mama.Components.Pages.Users;

/// <summary>One row of the Add users dialog, as the admin types it.</summary>
public sealed class UserDraft
{
    public string UserId { get; set; } = "";
    public string Organization { get; set; } = "";
    public IReadOnlyCollection<string> Models { get; set; } = [];
    public string Services { get; set; } = "";
    public string ExtraInfo { get; set; } = "";

    public IReadOnlyList<string> ServiceList => UserDrafts.SplitNames(Services);

    public NewUserRequest ToRequest() => new(UserId.Trim(), Organization.Trim(), Models.ToList(), ServiceList, ExtraInfo);
}

/// <summary>Why a draft row cannot be created yet; each is shown in words beside the row.</summary>
public enum DraftProblem
{
    MissingUserId,
    InvalidUserId,
    DuplicateUserId,
    OrganizationTooLong,
    ExtraInfoTooLong,
    UnknownModel,
}

public sealed record DraftCheck(int Row, DraftProblem Problem, string? Value = null);

/// <summary>The Add users dialog's logic, pure: pasted lines into rows, and the checks made before submitting.</summary>
public static class UserDrafts
{
    /// <summary>Lines of user_id, organisation, models, services, extra info (comma or tab separated; lists split by ';' or '|').</summary>
    public static IReadOnlyList<UserDraft> Parse(string text) =>
        text.Split('\n')
            .Select(l => l.TrimEnd('\r'))
            .Where(l => l.Trim().Length > 0)
            .Select(Csv.SplitLine)
            .Where(f => !string.Equals(f[0], "user_id", StringComparison.OrdinalIgnoreCase)) // a header line
            .Select(f => new UserDraft
            {
                UserId = Field(f, 0),
                Organization = Field(f, 1),
                Models = SplitNames(Field(f, 2)),
                Services = string.Join(", ", SplitNames(Field(f, 3))),
                ExtraInfo = Field(f, 4),
            })
            .ToList();

    public static IReadOnlyList<string> SplitNames(string? text) =>
        (text ?? "").Split([';', '|', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();

    /// <param name="servedModels">The proxy's models, or null when unknown (then models are left to the server to check).</param>
    public static IReadOnlyList<DraftCheck> Check(IReadOnlyList<UserDraft> rows, IReadOnlySet<string>? servedModels)
    {
        var problems = new List<DraftCheck>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var id = row.UserId.Trim();
            if (id.Length == 0) problems.Add(new(i, DraftProblem.MissingUserId));
            else if (!UserValidation.IsValidUserId(id)) problems.Add(new(i, DraftProblem.InvalidUserId, id));
            else if (!seen.Add(id)) problems.Add(new(i, DraftProblem.DuplicateUserId, id));
            if (row.Organization.Length > UserValidation.MaxOrganization) problems.Add(new(i, DraftProblem.OrganizationTooLong));
            if (row.ExtraInfo.Length > UserValidation.MaxExtraInfo) problems.Add(new(i, DraftProblem.ExtraInfoTooLong));
            if (servedModels is not null)
                problems.AddRange(row.Models.Where(m => !servedModels.Contains(m) && !ModelCatalog.SpecialModels.Contains(m))
                    .Select(m => new DraftCheck(i, DraftProblem.UnknownModel, m)));
        }
        return problems;
    }

    private static string Field(IReadOnlyList<string> fields, int index) => index < fields.Count ? fields[index] : "";
}

/// <summary>What an Edit selected would change, computed before it is applied.</summary>
public sealed record BatchEditPreview(int Users, int Changing, int Unchanged, int ModelsChanging, int ServicesChanging, int OrganizationChanging, int ExtraInfoChanging);

public static class BatchEdits
{
    public static BatchEditPreview Preview(IReadOnlyCollection<UserResponse> users, string? organization, string? extraInfo, SetEdit? models, SetEdit? services)
    {
        int changing = 0, modelChanges = 0, serviceChanges = 0, orgChanges = 0, infoChanges = 0;
        foreach (var user in users)
        {
            var m = models is not null && !models.ApplyTo(user.AllowedModels).SetEquals(user.AllowedModels);
            var s = services is not null && !services.ApplyTo(user.AllowedServices).SetEquals(user.AllowedServices);
            var o = organization is not null && organization != user.Organization;
            var x = extraInfo is not null && extraInfo != user.ExtraInfo;
            if (m) modelChanges++;
            if (s) serviceChanges++;
            if (o) orgChanges++;
            if (x) infoChanges++;
            if (m || s || o || x) changing++;
        }
        return new BatchEditPreview(users.Count, changing, users.Count - changing, modelChanges, serviceChanges, orgChanges, infoChanges);
    }
}
