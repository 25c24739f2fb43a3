"""The dashboard: pages for the secretariat and the project leaders (`pages`), their charts as
geometry (`charts`), signing in (`session`) and their words in Danish and English (`text`)."""
