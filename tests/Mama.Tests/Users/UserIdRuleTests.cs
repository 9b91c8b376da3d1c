using System.Text;
using Mama.Components.Pages.Users;
using Mama.Components.Shared;
using Mama.Users;

namespace Mama.Tests.Users;

/// <summary>The one user ID rule, as pure logic: what it accepts, what it refuses, and that every ID of the old ASCII rule still fits.</summary>
public sealed class UserIdRuleTests
{
    [Theory]
    [InlineData("홍길동")]
    [InlineData("김 민지")]
    [InlineData("やまだ たろう")]
    [InlineData("José.García@example.com")]
    [InlineData("हिन्दी")] // Devanagari: vowel signs and the virama are marks (Mc, Mn) with no precomposed form
    [InlineData("ภาษาไทย")] // Thai: vowels above and below are marks
    [InlineData("user+tag")]
    [InlineData("𠀋田")] // a letter outside the BMP, a surrogate pair
    [InlineData("a")]
    public void IdsOfAnyScriptAreValid(string id)
    {
        Assert.True(UserValidation.IsValidNewUserId(id));
        Assert.Null(UserValidation.CheckNewUserId(id, aliasPattern: null));
    }

    [Theory]
    [InlineData(".")]
    [InlineData("-")]
    [InlineData("a.b_c@d-e")]
    [InlineData("ABCxyz0189")]
    [InlineData("@leading.and.trailing.")]
    [InlineData("first last+tag")]
    public void EveryIdOfTheOldAsciiRuleStaysValid(string id) => Assert.True(UserValidation.IsValidNewUserId(id));

    [Fact]
    public void TheLongestValidIdIs128Utf16CodeUnitsAndTheSizeOfTheColumn()
    {
        Assert.True(UserValidation.IsValidNewUserId(new string('가', 128)));
        Assert.False(UserValidation.IsValidUserId(new string('가', 129)));
        Assert.False(UserValidation.IsValidUserId(string.Concat(Enumerable.Repeat("𠀋", 65)))); // 65 code points, 130 UTF-16 code units
    }

    [Theory]
    [InlineData("", "Required.")]
    [InlineData(" 홍길동", "start or end with a space")]
    [InlineData("홍길동 ", "start or end with a space")]
    [InlineData("김  민지", "one at a time")]
    [InlineData("김\u200B민지", "invisible")]
    [InlineData("abc\u202Edef", "invisible")]
    [InlineData("a\tb", "control")]
    [InlineData("a\u007Fb", "control")] // DEL: ASCII, yet not printable
    [InlineData("a/b", "'/'")]
    [InlineData("김\u3000민지", "U+3000")] // the ideographic space is not the one space allowed
    [InlineData("\u3164", "U+3164")] // the Hangul filler is a letter that renders as nothing
    [InlineData("a\uFE0F", "U+FE0F")] // a variation selector
    [InlineData("\u0301a", "U+0301")] // a mark with no letter to sit on
    [InlineData("a-\u0301", "U+0301")]
    [InlineData("a#b", "U+0023")]
    public void IdsThatAreNotUserIdsAreRefusedSayingWhy(string id, string why) =>
        Assert.Contains(why, UserValidation.CheckUserId(id));

    [Fact]
    public void HalfASurrogatePairIsRefusedAndLeftAsItIsByNormalisation()
    {
        var broken = "a" + '\uD800' + "b";

        Assert.Equal(broken, UserValidation.NormalizeUserId(broken));
        Assert.Contains("invisible", UserValidation.CheckUserId(broken));
    }

    [Fact]
    public void TwoDotsStayAddressableButNoNewUserTakesThem()
    {
        Assert.True(UserValidation.IsValidUserId("old..user"));
        Assert.Contains("'..'", UserValidation.CheckNewUserId("old..user", aliasPattern: null));
    }

    [Fact]
    public void DecomposedInputIsNormalisedToNfcAndTheDecomposedFormItselfIsNoUserId()
    {
        var composed = "홍길동 José";
        var decomposed = composed.Normalize(NormalizationForm.FormD);
        Assert.NotEqual(composed, decomposed);

        Assert.Equal(composed, UserValidation.NormalizeUserId(decomposed));
        Assert.Contains("NFC", UserValidation.CheckUserId(decomposed));
        Assert.Equal([composed], UserValidation.RequireUserIds([decomposed]));
        var duplicate = Assert.Throws<Mama.Http.ProblemException>(() => UserValidation.RequireUserIds([composed, decomposed]));
        Assert.Contains("Duplicate", duplicate.Message + string.Join(" ", duplicate.Errors?.Values.SelectMany(v => v) ?? []));
    }

    [Fact]
    public void TheAddUsersDialogSeesADecomposedAndAComposedCopyAsOneIdAndSendsTheComposedOne()
    {
        var drafts = new[] { new UserDraft { UserId = "김 민지" }, new UserDraft { UserId = "김 민지".Normalize(NormalizationForm.FormD) } };

        var problems = UserDrafts.Check(drafts, servedModels: null);

        Assert.Equal(DraftProblem.DuplicateUserId, Assert.Single(problems).Problem);
        Assert.Equal("김 민지", drafts[1].ToRequest().UserId);
    }

    [Fact]
    public void KoreanIdsWithSpacesAndIdsStartingWithPlusSurviveTheUsersCsvExportAndThePastedImport()
    {
        var csv = Csv.Write(["user_id", "organization"], [["김 민지", "개발팀, 서울"], ["홍길동", ""], ["+82-홍길동", ""]]);

        var drafts = UserDrafts.Parse(csv);

        Assert.Contains("'+82-홍길동", csv); // neutralised for spreadsheets
        Assert.Equal(["김 민지", "홍길동", "+82-홍길동"], drafts.Select(d => d.UserId));
        Assert.Equal("개발팀, 서울", drafts[0].Organization);
        Assert.Empty(UserDrafts.Check(drafts, servedModels: null));
    }
}
