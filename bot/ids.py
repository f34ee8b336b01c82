"""Every action_id and callback_id the app uses, in one place (matched by the listeners)."""

from enum import Enum


class Callback(str, Enum):
    NEW_WORKSHOP = "workshop.new"
    JOIN = "workshop.join"
    PEOPLE = "workshop.people"
    NEW_WORKSHOP_SHORTCUT = "workshop.new_shortcut"
    GROUPS_PREVIEW = "groups.preview"
    GROUPS_EDIT = "groups.edit"
    ADD_POST_IT = "board.add"
    ADD_AS_POST_IT = "board.add_message"   # message shortcut
    ARRANGE = "board.arrange"
    STAGES = "board.stages"
    BOARD_FULL = "board.full"
    VOTE = "board.vote"
    REVIEW = "board.review"
    SETTINGS = "workshop.settings"
    SCHEDULE = "workshop.schedule"
    LEADERSHIP = "workshop.leadership"
    OWNERS = "owners.assign"
    CUSTOMERS = "customers.add"
    CUSTOMER_REVIEW = "customers.review"
    CUSTOMER_FEEDBACK = "board.feedback"


class Action(str, Enum):
    JOIN = "workshop.join"
    REPOST_KICKOFF = "workshop.repost_kickoff"
    OPEN_NEW_WORKSHOP = "workshop.open_new"
    GROUPS_RESHUFFLE = "groups.reshuffle"
    GROUPS_EDIT = "groups.edit"
    GROUPS_OPTION = "groups.option"
    GROUPS_RETRY = "groups.retry"
    BOARD_ADD = "board.add"
    BOARD_ARRANGE = "board.arrange"
    BOARD_STAGES = "board.stages"
    BOARD_FULL = "board.full"
    BOARD_PAGE = "board.page"
    VOTE_OPEN = "vote.open"
    VOTE_CAST = "vote.cast"
    VOTE_WITHDRAW = "vote.withdraw"
    VOTE_PAGE = "vote.page"
    REVIEW_HIDE = "review.hide"
    REVIEW_REVEAL_ALL = "review.reveal_all"
    SCHEDULE_NEXT = "schedule.next"        # "Start now" in preparation
    SCHEDULE_EXTEND = "schedule.extend"
    SCHEDULE_PAUSE = "schedule.pause"
    SCHEDULE_RESUME = "schedule.resume"
    SCHEDULE_SKIP = "schedule.skip"
    SCHEDULE_BACK = "schedule.back"
    SCHEDULE_EDIT = "schedule.edit"
    MAPS_RETRY = "maps.retry"
    OWNERS_OPEN = "owners.open"
    CUSTOMER_REVIEW = "customers.review"          # Review, in the customer's DM
    CUSTOMERS_REMIND = "customers.remind"         # one customer (value: customer id)
    CUSTOMERS_REMIND_ALL = "customers.remind_all"  # value: workshop id
    CUSTOMERS_INVITE = "customers.invite"         # Send invitations now (workshop id)
    CUSTOMERS_REVOKE = "customers.revoke"         # a web customer's links stop working
    CUSTOMERS_NEW_LINK = "customers.new_link"
    CUSTOMERS_ADD = "customers.add"               # open the add modal from the progress
    FEEDBACK_OPEN = "board.feedback"              # value: group id
    FEEDBACK_ACCEPT = "feedback.accept"
    FEEDBACK_REJECT = "feedback.reject"


class Block(str, Enum):
    KICKOFF_COUNT = "kickoff.count"
    KICKOFF_ACTIONS = "kickoff.actions"
