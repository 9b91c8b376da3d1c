using Mama.Audit;

namespace Mama.Tests.Audit;

public sealed class AuditCsvTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("", "")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("cr\rhere", "\"cr\rhere\"")]
    [InlineData("한국어 이름", "한국어 이름")]
    [InlineData("=cmd()", "'=cmd()")]
    [InlineData("@sum,1", "\"'@sum,1\"")]
    [InlineData("+1+2", "'+1+2")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("\t=cmd()", "'\t=cmd()")]
    [InlineData("\r=cmd()", "\"'\r=cmd()\"")]
    [InlineData("a=b", "a=b")]
    [InlineData("x;=HYPERLINK(\"https://evil\")", "\"x;=HYPERLINK(\"\"https://evil\"\")\"")]
    public void FieldsAreQuotedOnlyWhenTheyNeedIt(string value, string expected) =>
        Assert.Equal(expected, AuditCsv.Field(value));

}
