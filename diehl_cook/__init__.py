"""A Brian 2 reproduction of Diehl & Cook (2015), unsupervised digit recognition
with spike-timing-dependent plasticity. See README.md."""
__version__ = "0.5.0"
