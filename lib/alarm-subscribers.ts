// Who the alarm topic pages: without a subscriber, CloudWatch alarms and AMP
// alerts reach the topic and nobody. E-mail addresses confirm their own
// subscription; a Slack channel is reached through AWS Chatbot, once its
// workspace is authorised in the Chatbot console. Checked at synth.
import { Aws, Fn, Stack } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

export interface AlarmSubscribers {
  /** Each receives a confirmation mail first. */
  readonly emails?: readonly string[];
  /** A Slack channel through AWS Chatbot: the workspace id (T…) and the channel id (C…). */
  readonly slack?: { readonly workspaceId: string; readonly channelId: string };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SLACK_WORKSPACE = /^T[A-Z0-9]{6,}$/;
const SLACK_CHANNEL = /^[CG][A-Z0-9]{6,}$/;

/** Subscribes `topic`'s pages to the given people and channel. */
export const subscribeAlarmTopic = (scope: Construct, topic: sns.ITopic, subscribers: AlarmSubscribers): void => {
  for (const email of new Set(subscribers.emails ?? [])) {
    if (!EMAIL.test(email)) throw new Error(`alarm e-mail "${email}" is not an e-mail address`);
    topic.addSubscription(new subscriptions.EmailSubscription(email));
  }
  const { slack } = subscribers;
  if (!slack) return;
  if (!SLACK_WORKSPACE.test(slack.workspaceId)) throw new Error(`Slack workspace id "${slack.workspaceId}" is not one (T followed by letters and digits)`);
  if (!SLACK_CHANNEL.test(slack.channelId)) throw new Error(`Slack channel id "${slack.channelId}" is not one (C or G followed by letters and digits)`);
  new chatbot.SlackChannelConfiguration(scope, 'AlarmSlackChannel', {
    // Chatbot configuration names are unique per account, across regions.
    slackChannelConfigurationName: Fn.join('-', [Stack.of(scope).stackName, 'alarms', Aws.REGION]),
    slackWorkspaceId: slack.workspaceId,
    slackChannelId: slack.channelId,
    notificationTopics: [topic],
    loggingLevel: chatbot.LoggingLevel.ERROR,
    // The channel only receives: its role has no policy, and the guardrail keeps any later grant read-only.
    guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
  });
};

/** From `-c scaivault:alarmEmails=a@x.org,b@x.org -c scaivault:alarmSlackWorkspace=T… -c scaivault:alarmSlackChannel=C…` (or a list in cdk.json). */
export const alarmSubscribersFromContext = (context: (key: string) => unknown): AlarmSubscribers => {
  const given = context('alarmEmails') ?? [];
  const list = typeof given === 'string' ? given.split(',') : given;
  if (!Array.isArray(list) || !list.every((email) => typeof email === 'string'))
    throw new Error('context scaivault:alarmEmails must be addresses separated by commas, or a list of them');
  const emails = list.map((email) => email.trim()).filter(Boolean);
  const text = (key: string): string | undefined => {
    const value = context(key);
    if (value !== undefined && typeof value !== 'string') throw new Error(`context scaivault:${key} must be a string`);
    return value?.trim() || undefined;
  };
  const workspaceId = text('alarmSlackWorkspace');
  const channelId = text('alarmSlackChannel');
  if ((workspaceId === undefined) !== (channelId === undefined)) {
    throw new Error('context scaivault:alarmSlackWorkspace and scaivault:alarmSlackChannel go together');
  }
  return { emails, ...(workspaceId && channelId ? { slack: { workspaceId, channelId } } : {}) };
};
