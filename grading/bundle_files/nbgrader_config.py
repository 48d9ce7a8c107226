"""nbgrader's settings for the learner: the Validate button in JupyterLab and `nbgrader validate`,
run from this folder (the bundle's top, where `make lab` starts JupyterLab).

Validate runs a notebook afresh with the same time limit per cell as the grader (600 s; nbgrader's
own default is 30 s, too short for training and export), so a notebook that validates here is not
stopped for time when it is graded.
"""

c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)
c.Execute.timeout = 600
c.ExecutePreprocessor.timeout = 600
