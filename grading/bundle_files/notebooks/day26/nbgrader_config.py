"""nbgrader's settings when Validate runs in this folder (JupyterLab started in notebooks/day26, or
`nbgrader validate` run here): the bundle's own settings, two folders up, so Validate has the
grader's time limit per cell wherever it starts."""

c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)
load_subconfig("../../nbgrader_config.py")  # noqa: F821 (and load_subconfig, relative to this file)
