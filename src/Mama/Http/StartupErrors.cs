using Microsoft.Extensions.Options;

namespace Mama.Http;

/// <summary>Turns the start-up validation of settings into one line an operator can act on.</summary>
public static class StartupErrors
{
    public static bool AreSettings(Exception e) => Failures(e).Any() && Flatten(e).All(x => x is OptionsValidationException or AggregateException);

    public static string Describe(Exception e) => string.Join(" ", Failures(e).Distinct());

    private static IEnumerable<string> Failures(Exception e) => Flatten(e).OfType<OptionsValidationException>().SelectMany(o => o.Failures);

    private static IEnumerable<Exception> Flatten(Exception e) =>
        e is AggregateException aggregate ? aggregate.Flatten().InnerExceptions.SelectMany(Flatten) : [e];
}
