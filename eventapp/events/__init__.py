"""Events: the dated webinars and meetings people register for."""
