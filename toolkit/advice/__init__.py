"""What the run says about itself: data size, overfitting, the cheap baselines and the
verdict, gathered in a `Diagnosis`."""
