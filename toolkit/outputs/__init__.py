"""What a run leaves behind: the run directory, plots, report.md, model cards, the console
summary, and the push to the Hub."""
