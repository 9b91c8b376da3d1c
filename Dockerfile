# mama: build with the .NET 10 SDK, run on the ASP.NET Core runtime image as its non-root `app` user (UID 1654).
#   docker build -t mama .
#   docker run -p 8080:8080 -v mama-data:/data --env-file .env mama        (or: docker compose up, see compose.yaml)
# mama migrates its database at every start (under a lock, so several instances may start together);
# `docker run … mama migrate` does only that and exits, and the operator verbs run the same way (`… mama status`).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so the package layer is reused until a dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Mama/Mama.csproj src/Mama/
COPY src/Mama.LiteLlmEmulator/Mama.LiteLlmEmulator.csproj src/Mama.LiteLlmEmulator/
# For the target's runtime, so the publish is precompiled (ReadyToRun: see Mama.csproj); TARGETARCH is set by buildx.
ARG TARGETARCH
RUN echo "linux-$([ "$TARGETARCH" = arm64 ] && echo arm64 || echo x64)" > /rid && dotnet restore src/Mama/Mama.csproj -r "$(cat /rid)"
COPY src/ src/
RUN dotnet publish src/Mama/Mama.csproj -c Release -r "$(cat /rid)" -o /app --no-restore -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# The SQLite file (when Database__Provider=sqlite) and anything mama generates live on the volume, owned by `app`.
RUN mkdir /data && chown app:app /data
WORKDIR /app
COPY --from=build /app .
# `Urls` (not ASPNETCORE_HTTP_PORTS): appsettings.json sets Urls to localhost:8000, and only Urls overrides it.
ENV ASPNETCORE_ENVIRONMENT=Production \
    Urls=http://+:8080 \
    Mama__DataPath=/data \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
USER $APP_UID
VOLUME /data
EXPOSE 8080
# The image has no curl or wget; bash's /dev/tcp sends one HTTP request and the status line must say 200. Starting
# the app itself as a probe (`dotnet Mama.dll status`) would load a second runtime every interval.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/live HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "Mama.dll"]
