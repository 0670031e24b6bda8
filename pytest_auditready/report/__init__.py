"""Reports: compliance JUnit (the contract), and later the evidence bundle and GitHub outputs."""
