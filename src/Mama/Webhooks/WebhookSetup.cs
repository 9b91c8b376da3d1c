using Microsoft.Extensions.Options;

namespace Mama.Webhooks;

public static class WebhookSetup
{
    public static IServiceCollection AddMamaWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration("Mama:Webhooks").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<WebhookService>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddHttpClient(WebhookDispatcher.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var allowPrivate = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks;
                // No proxy and no redirects: either would reach an address the connect check never saw.
                return new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    UseProxy = false,
                    UseCookies = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                    ConnectCallback = (context, ct) => WebhookUrls.ConnectAsync(context, allowPrivate, ct),
                };
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // The default loggers write each request's URL, whose query string may hold the receiver's credentials.
            .RemoveAllLoggers();
        return services;
    }
}
