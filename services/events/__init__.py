"""Events: macrozone encuentros."""
