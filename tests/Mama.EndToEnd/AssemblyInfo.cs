using Mama.EndToEnd.Infrastructure;

// One app and one browser for the whole assembly; tests one at a time, so a slow shared machine slows them evenly
// instead of starving one circuit while another test clicks.
[assembly: AssemblyFixture(typeof(MamaE2E))]
[assembly: CollectionBehavior(DisableTestParallelization = true)]
