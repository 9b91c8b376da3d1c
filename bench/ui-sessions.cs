// Opens N admin sessions of mama's UI in headless Chromium and browses the users page in each (next pages, a search),
// then keeps them open until stdin closes, so the caller can read mama's resident memory with all circuits alive. After the
// first session it prints "first session open" and waits for a line on stdin: the first session's memory (the UI's code
// compiled, its assemblies read) is a one-time cost, apart from what each further session adds.
//   dotnet run bench/ui-sessions.cs -- http://127.0.0.1:5000 admin password 10
#:package Microsoft.Playwright
#:property PublishAot=false
using Microsoft.Playwright;

var (url, user, password, sessions) = (args[0], args[1], args[2], int.Parse(args[3]));
using var playwright = await Playwright.CreateAsync();
await using var browser = await playwright.Chromium.LaunchAsync(new()
{
    ExecutablePath = Environment.GetEnvironmentVariable("MAMA_CHROMIUM") ?? "/usr/bin/chromium",
    Headless = true,
    Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
var pages = new List<IPage>();
for (var i = 0; i < sessions; i++)
{
    var context = await browser.NewContextAsync(new() { BaseURL = url, ViewportSize = new() { Width = 1280, Height = 800 } });
    var page = await context.NewPageAsync();
    await page.GotoAsync("/login");
    await page.GetByLabel("Username").FillAsync(user);
    await page.GetByLabel("Password", new() { Exact = true }).FillAsync(password);
    await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    await page.WaitForURLAsync(u => !u.Contains("/login"));
    // Signing in lands on the users page ("/"): loading it again would leave a second circuit behind until its disconnect.
    if (new Uri(page.Url).AbsolutePath is not ("/" or "/users")) await page.GotoAsync("/users");
    var next = page.GetByRole(AriaRole.Button, new() { Name = "Next page" });
    await next.First.WaitForAsync();
    for (var p = 0; p < 3; p++)
    {
        await next.First.ClickAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
    }
    await page.GetByLabel("Search").First.FillAsync($"org-{i:D3}");
    await page.WaitForTimeoutAsync(800); // the search is debounced
    pages.Add(page);
    Console.WriteLine($"session {i + 1} browsing");
    if (i == 0)
    {
        Console.WriteLine("first session open");
        Console.In.ReadLine();
    }
}
Console.WriteLine("all sessions open");
Console.In.ReadToEnd();
