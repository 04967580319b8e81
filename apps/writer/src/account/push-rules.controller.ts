import { Controller, Get, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';

const eventMatch = (key: string, pattern: string) => ({ kind: 'event_match', key, pattern });

/**
 * The spec's predefined push rules (push notifications are not this server's concern, but
 * clients such as matrix-js-sdk read `GET /pushrules/` before their first sync). Users cannot
 * change them here.
 */
export function defaultPushRules(userId: string) {
  return {
    global: {
      override: [
        { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] },
        {
          rule_id: '.m.rule.suppress_notices',
          default: true,
          enabled: true,
          conditions: [eventMatch('content.msgtype', 'm.notice')],
          actions: [],
        },
        {
          rule_id: '.m.rule.invite_for_me',
          default: true,
          enabled: true,
          conditions: [eventMatch('type', 'm.room.member'), eventMatch('content.membership', 'invite'), eventMatch('state_key', userId)],
          actions: ['notify', { set_tweak: 'sound', value: 'default' }],
        },
        { rule_id: '.m.rule.member_event', default: true, enabled: true, conditions: [eventMatch('type', 'm.room.member')], actions: [] },
      ],
      content: [],
      room: [],
      sender: [],
      underride: [
        {
          rule_id: '.m.rule.message',
          default: true,
          enabled: true,
          conditions: [eventMatch('type', 'm.room.message')],
          actions: ['notify'],
        },
        {
          rule_id: '.m.rule.encrypted',
          default: true,
          enabled: true,
          conditions: [eventMatch('type', 'm.room.encrypted')],
          actions: ['notify'],
        },
      ],
    },
  };
}

/** `GET /pushrules/` (spec push_notifications: the predefined rules only). */
@ApiTags('account')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class PushRulesController {
  @Get('pushrules')
  pushRules(@AuthenticatedRequester() requester: Requester): ReturnType<typeof defaultPushRules> {
    return defaultPushRules(requester.userId);
  }
}
