"""Lead capture: deciding which LinkedIn commenters asked for the lead magnet."""
