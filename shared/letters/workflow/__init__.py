"""The life of a letter: states, intake, attempts, numbering, issuing, events, the sweeper."""
