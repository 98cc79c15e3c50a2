"""nbgrader configuration: the course root is the nbgrader course directory.

Instructor sources live in solutions/, the student release in exercises/, and everything the
grader writes (gradebook, submissions, autograded notebooks, feedback) under autograder/.
"""
import os

ROOT = os.path.dirname(os.path.abspath(__file__))
c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "autograder", "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ExecutePreprocessor.timeout = 30
# A JupyterHub deployment points every user at one shared exchange (see jupyterhub/).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", os.path.join(ROOT, "autograder", "exchange"))
