/** A user's action on a form: what it said when it worked, or what went wrong. */
import { errorMessage } from '../lib/errors';

export class TaskStatus {
  message = $state<string | undefined>(undefined);
  problem = $state<string | undefined>(undefined);

  /** Runs `task`; its result is the message to show, a thrown error the problem. */
  async run(task: () => Promise<string | undefined>): Promise<void> {
    this.problem = undefined;
    this.message = undefined;
    try {
      this.message = await task();
    } catch (error) {
      this.problem = errorMessage(error);
    }
  }
}
