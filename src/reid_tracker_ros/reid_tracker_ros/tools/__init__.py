"""Programs that are neither nodes nor cores: the demo, the lockstep evaluator and its replay
node, the soak test and the benchmarks. They start the graph (or the cores offline) the way a
user would; nothing in the nodes or cores imports them."""
