"""Units of work that the CLI, the scheduler and the web app all call."""
